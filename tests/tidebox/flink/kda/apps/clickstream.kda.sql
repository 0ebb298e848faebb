-- AWS's clickstream anomaly lab ("Real-time Clickstream Anomaly Detection with Amazon Kinesis
-- Analytics"), its click count written here from its documented behaviour: clicks counted in
-- 10-second windows of ROWTIME, through an intermediate stream as the lab does.
CREATE OR REPLACE STREAM "CLICKSTREAM" ("CLICKCOUNT" BIGINT);
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("CLICKCOUNT" BIGINT);

CREATE OR REPLACE PUMP "CLICKPUMP" AS
INSERT INTO "CLICKSTREAM" ("CLICKCOUNT")
SELECT STREAM COUNT(*)
FROM "SOURCE_SQL_STREAM_001"
WHERE "browseraction" = 'Click'
GROUP BY FLOOR(
  ("SOURCE_SQL_STREAM_001".ROWTIME - TIMESTAMP '1970-01-01 00:00:00')
    SECOND / 10 TO SECOND
);

CREATE OR REPLACE PUMP "OUTPUT_PUMP" AS
INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM * FROM "CLICKSTREAM";
