-- Kinesis Data Analytics' STEP example as a KDA SQL application, the way it was exported from
-- KDA: tidebox runs it as it is (jobs/kinesis_step_60s.sql is the same job written in Flink
-- SQL by hand). Per device and minute of arrival: the readings and their mean temperature,
-- stamped with the minute's end (ROWTIME of a windowed row).
--
--   tidebox job run jobs/kinesis_step_60s.kda.sql --input sensor_readings
--   tidebox job translate jobs/kinesis_step_60s.kda.sql --input sensor_readings
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
    row_time        TIMESTAMP,
    device_id       VARCHAR(16),
    readings        INTEGER,
    temperature_avg DOUBLE);

CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT STREAM ROWTIME, device_id, COUNT(*), AVG(temperature)
    FROM "SOURCE_SQL_STREAM_001"
    GROUP BY device_id, STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '60' SECOND);
