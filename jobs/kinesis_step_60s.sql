-- Kinesis Data Analytics' STEP example in Flink SQL. The Kinesis SQL
--   SELECT STREAM STEP(ROWTIME BY INTERVAL '60' SECOND) AS window_end, device_id, COUNT(*) ...
--   FROM SOURCE_SQL_STREAM_001
--   GROUP BY device_id, STEP(ROWTIME BY INTERVAL '60' SECOND)
-- is a tumbling window whose rows are stamped with the window's end, as ROWTIME was.
INSERT INTO kinesis_step_60s
SELECT window_end AS row_time, device_id,
       COUNT(*) AS readings,
       AVG(temperature) AS temperature_avg
FROM TABLE(TUMBLE(TABLE sensor_readings, DESCRIPTOR(event_time), INTERVAL '60' SECOND))
GROUP BY window_start, window_end, device_id;
