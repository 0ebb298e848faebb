-- Anomaly scores per device: Kinesis Analytics' RANDOM_CUT_FOREST with one forest per device
-- (PARTITION BY), at its defaults (100 trees of 256 points, timeDecay 100000, no shingling).
-- Every reading comes out with ANOMALY_SCORE on Kinesis' scale and ANOMALY_GRADE in [0, 1]
-- (the 'tuned' preset's grading). Rows are scored per device in event-time order once the
-- watermark passes them, so a job restored from a checkpoint writes exactly the scores of an
-- uninterrupted run. Readings with a NULL in a scored column pass through unscored. The labels
-- pass through too, so that the landed scores can be measured against them (tidebox evaluate).
INSERT INTO device_anomaly_scores
SELECT
  device_id,
  event_time,
  temperature,
  humidity,
  vibration,
  battery,
  is_anomaly,
  anomaly_type,
  ANOMALY_SCORE AS anomaly_score,
  ANOMALY_GRADE AS anomaly_grade
FROM RANDOM_CUT_FOREST(
  input => TABLE sensor_readings PARTITION BY device_id,
  on_time => DESCRIPTOR(event_time),
  columns => DESCRIPTOR(temperature, humidity, vibration, battery),
  grade => 'tuned',
  uid => 'device_forests'
);
