-- Hopping (sliding) windows: every minute, the last five minutes of temperature per device.
-- The output stream needs no declaration: its columns are the query's.
INSERT INTO temperature_hop_5m
SELECT window_start, window_end, device_id,
       COUNT(*) AS readings,
       AVG(temperature) AS temperature_avg,
       MAX(temperature) AS temperature_max
FROM TABLE(HOP(TABLE sensor_readings, DESCRIPTOR(event_time), INTERVAL '1' MINUTE, INTERVAL '5' MINUTE))
GROUP BY window_start, window_end, device_id;
