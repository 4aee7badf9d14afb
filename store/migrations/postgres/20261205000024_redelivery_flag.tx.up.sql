-- A delivery attempt that a person asked for (POST …/redeliver) rather than
-- the event's own delivery and its retries: the log tells them apart (the
-- attempts of a redelivery are numbered from 1 again).
ALTER TABLE webhook_deliveries ADD COLUMN redelivery boolean NOT NULL DEFAULT false;
