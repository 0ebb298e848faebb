-- Top-N per window: the three devices with the highest vibration in each minute.
INSERT INTO top_vibration_1m
SELECT window_start, window_end, device_id, vibration_max, place
FROM (
  SELECT *, ROW_NUMBER() OVER (
           PARTITION BY window_start, window_end ORDER BY vibration_max DESC) AS place
  FROM (
    SELECT window_start, window_end, device_id, MAX(vibration) AS vibration_max
    FROM TABLE(TUMBLE(TABLE sensor_readings, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
    GROUP BY window_start, window_end, device_id))
WHERE place <= 3;
