-- PostgreSQL: the text of every chapter of the affected projects (a project's readability needs each chapter's
-- syllable count, which content_statistics has no column for, so unchanged siblings are read too).
select id, project_id, content
from content.chapters
where project_id = any(%(project_ids)s)
