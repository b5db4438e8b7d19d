-- Start from nothing in this schema, so re-running leaves exactly the privileges granted now
-- (revoking a table privilege also revokes the matching column privileges).
revoke all on all tables in schema {schema} from {role};
revoke all on schema {schema} from {role};
