-- The demo's only table: one row per job the sidekiq worker finished.
CREATE TABLE IF NOT EXISTS processed_jobs (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  jid VARCHAR(32) NOT NULL,
  note VARCHAR(200) NOT NULL DEFAULT '',
  enqueued_at DATETIME(3) NOT NULL,
  processed_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  processed_by VARCHAR(64) NOT NULL DEFAULT '',
  UNIQUE KEY index_processed_jobs_on_jid (jid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
