-- The developer guide's string and date-time examples ("Transforming String Values":
-- SUBSTRING with POSITION, REGEX_REPLACE; "Transforming DateTime Values"), written here from
-- their documented behaviour as one application, with the other scalar functions tidebox maps.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
    TICKER VARCHAR(4),
    event_time TIMESTAMP,
    five_minutes_before TIMESTAMP,
    event_unix_timestamp BIGINT,
    event_timestamp_as_char VARCHAR(50),
    event_second INTEGER,
    exact_second DECIMAL(5,3),
    "referrer" VARCHAR(32),
    "https_referrer" VARCHAR(64),
    head VARCHAR(8),
    parsed TIMESTAMP,
    from_ms TIMESTAMP,
    age_ms BIGINT,
    tag VARCHAR(20),
    is_tech BOOLEAN,
    math DOUBLE,
    logs DOUBLE,
    has_row_time BOOLEAN,
    label_or_none VARCHAR(8),
    overlaid VARCHAR(8),
    arrival_char VARCHAR(30),
    arrival_ms BIGINT);

CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM
    TICKER,
    EVENT_TIME,
    EVENT_TIME - INTERVAL '5' MINUTE,
    UNIX_TIMESTAMP(EVENT_TIME),
    TIMESTAMP_TO_CHAR('yyyy-MM-dd hh:mm:ss', EVENT_TIME),
    EXTRACT(SECOND FROM EVENT_TIME),
    EXTRACT(SECOND FROM EVENT_TIME),
    SUBSTRING("REFERRER", 12, (POSITION('.com' IN "REFERRER") - POSITION('www.' IN "REFERRER") - 4)),
    REGEX_REPLACE("REFERRER", 'http://', 'https://', 1, 0),
    SUBSTRING(TICKER FROM 0 FOR 3),
    CHAR_TO_TIMESTAMP('dd/MM/yyyy HH:mm', DAY_TEXT),
    TO_TIMESTAMP(MS),
    TSDIFF(MS, UNIX_TIMESTAMP(EVENT_TIME)),
    UPPER(TRIM(BOTH ' ' FROM LABEL)) || '-' || CAST(CHAR_LENGTH(LABEL) AS VARCHAR(4)),
    LABEL SIMILAR TO '%tech%',
    ABS(PRICE) + MOD(CAST(PRICE AS INTEGER), 3) + POWER(2, 2) + FLOOR(PRICE) + CEILING(PRICE),
    LN(EXP(1)) + LOG10(100),
    CURRENT_ROW_TIMESTAMP IS NOT NULL,
    COALESCE(NULLIF(LOWER(LABEL), ' tech '), 'none'),
    OVERLAY(TICKER PLACING 'x' FROM 2 FOR 1),
    TIMESTAMP_TO_CHAR('HH:mm:ss.SSS', ROWTIME),
    UNIX_TIMESTAMP(ROWTIME)
FROM "SOURCE_SQL_STREAM_001";
