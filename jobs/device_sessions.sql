-- Session windows: a device's readings belong to one session until it is silent for two minutes.
INSERT INTO device_sessions
SELECT window_start, window_end, device_id,
       COUNT(*) AS readings,
       AVG(vibration) AS vibration_avg
FROM TABLE(SESSION(TABLE sensor_readings PARTITION BY device_id, DESCRIPTOR(event_time), INTERVAL '2' MINUTE))
GROUP BY window_start, window_end, device_id;
