-- Cumulating windows: within each hour, running statistics every ten minutes per device.
INSERT INTO battery_cumulative_1h
SELECT window_start, window_end, device_id,
       COUNT(*) AS readings,
       MIN(battery) AS battery_min
FROM TABLE(CUMULATE(TABLE sensor_readings, DESCRIPTOR(event_time), INTERVAL '10' MINUTE, INTERVAL '1' HOUR))
GROUP BY window_start, window_end, device_id;
