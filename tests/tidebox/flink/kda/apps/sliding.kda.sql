-- The KDA developer guide's sliding windows (sliding-window-concepts.md), written here from
-- their documented behaviour, one pump each, over the same input:
-- example 1: MIN/MAX/AVG of the price over the last minute, per ticker, one row per record;
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
    ticker_symbol VARCHAR(10), Min_Price double, Max_Price double, Avg_Price double);

CREATE OR REPLACE PUMP "STREAM_PUMP" AS
   INSERT INTO "DESTINATION_SQL_STREAM"
     SELECT STREAM ticker_symbol,
                   MIN(Price) OVER W1 AS Min_Price,
                   MAX(Price) OVER W1 AS Max_Price,
                   AVG(Price) OVER W1 AS Avg_Price
     FROM   "SOURCE_SQL_STREAM_001"
     WINDOW W1 AS (
        PARTITION BY ticker_symbol
        RANGE INTERVAL '1' MINUTE PRECEDING);

-- example 3: two row windows in one query (2 and 10 rows back, each with the current row);
CREATE OR REPLACE STREAM "ROWS_STREAM" (
    ticker_symbol VARCHAR(12), price double, average_last2rows double, average_last10rows double);

CREATE OR REPLACE PUMP "myPump" AS INSERT INTO "ROWS_STREAM"
SELECT STREAM ticker_symbol,
              price,
              avg(price) over last2rows,
              avg(price) over last10rows
FROM SOURCE_SQL_STREAM_001
WINDOW
    last2rows AS (PARTITION BY ticker_symbol ROWS 2 PRECEDING),
    last10rows AS (PARTITION BY ticker_symbol ROWS 10 PRECEDING);

-- and LAG (SQL reference): the price 1 and 2 records back within the last minute, inline.
CREATE OR REPLACE STREAM "LAG_STREAM" (
    ticker_symbol VARCHAR(4), price DOUBLE, previous_price DOUBLE, previous_price_2 DOUBLE);

CREATE OR REPLACE PUMP "LAG_PUMP" AS INSERT INTO "LAG_STREAM"
    SELECT STREAM ticker_symbol, price,
        LAG(price) OVER (PARTITION BY ticker_symbol RANGE INTERVAL '1' MINUTE PRECEDING),
        LAG(price, 2, -1.0) OVER (PARTITION BY ticker_symbol RANGE INTERVAL '1' MINUTE PRECEDING)
    FROM "SOURCE_SQL_STREAM_001";
