-- Per device and 1-minute tumbling event-time window: count, average, minimum and maximum
-- of every sensor. The tables are the streams of the same name: tidebox declares them from
-- the stream specs (defaults or tidebox.yaml), with a watermark on sensor_readings.event_time.
INSERT INTO device_stats_1m
SELECT
  window_start,
  window_end,
  device_id,
  COUNT(*)           AS readings,
  COUNT(temperature) AS temperature_count,
  AVG(temperature)   AS temperature_avg,
  MIN(temperature)   AS temperature_min,
  MAX(temperature)   AS temperature_max,
  COUNT(humidity)    AS humidity_count,
  AVG(humidity)      AS humidity_avg,
  MIN(humidity)      AS humidity_min,
  MAX(humidity)      AS humidity_max,
  COUNT(vibration)   AS vibration_count,
  AVG(vibration)     AS vibration_avg,
  MIN(vibration)     AS vibration_min,
  MAX(vibration)     AS vibration_max,
  COUNT(battery)     AS battery_count,
  AVG(battery)       AS battery_avg,
  MIN(battery)       AS battery_min,
  MAX(battery)       AS battery_max
FROM TABLE(TUMBLE(TABLE sensor_readings, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, device_id;
