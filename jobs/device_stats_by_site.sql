-- Reference data, as Kinesis Analytics joined an S3 object with a stream: every device's
-- 1-minute statistics with the site and model it belongs to. `devices` is a table of
-- tidebox.yaml with columns (the shipped one reads jobs/reference/devices.csv). The windows
-- are computed first; the join then adds where each device stands.
INSERT INTO device_stats_by_site
SELECT s.window_start, s.window_end, s.device_id, d.site, d.model, s.readings, s.temperature_avg
FROM (
  SELECT window_start, window_end, device_id,
         COUNT(*) AS readings, AVG(temperature) AS temperature_avg
  FROM TABLE(TUMBLE(TABLE sensor_readings, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
  GROUP BY window_start, window_end, device_id
) AS s
JOIN devices AS d ON s.device_id = d.device_id;
