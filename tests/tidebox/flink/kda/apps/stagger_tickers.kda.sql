-- The KDA developer guide's stagger window ("Stagger Windows" concepts page), written here from
-- its documented behaviour: one row per (minute of EVENT_TIME, ticker) and window, the window
-- opening at the key's first arrival and closing one minute later. Beside the guide's columns,
-- the window's ROWTIME and the price's aggregates, to check them too.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
    ticker_symbol    VARCHAR(4),
    event_time       TIMESTAMP,
    ticker_count     DOUBLE,
    total_price      DOUBLE,
    min_price        DOUBLE,
    max_price        DOUBLE,
    avg_price        DOUBLE,
    closed           TIMESTAMP);

CREATE OR REPLACE PUMP "STREAM_PUMP" AS
  INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT STREAM
        TICKER_SYMBOL,
        FLOOR(EVENT_TIME TO MINUTE),
        COUNT(TICKER_SYMBOL) AS ticker_count,
        SUM(PRICE), MIN(PRICE), MAX(PRICE), AVG(PRICE),
        ROWTIME
    FROM "SOURCE_SQL_STREAM_001"
    WINDOWED BY STAGGER (
            PARTITION BY FLOOR(EVENT_TIME TO MINUTE), TICKER_SYMBOL RANGE INTERVAL '1' MINUTE);
