-- Not in the seed: the write-back looks statistics up by (content_type, content_id) for every chapter and project;
-- without this index each lookup scans the whole table (minutes at 500k chapters).
CREATE INDEX IF NOT EXISTS idx_content_statistics_content
    ON content.content_statistics (content_type, content_id);
