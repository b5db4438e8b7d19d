-- PostgreSQL replication command (DDL template, on a `replication=database` connection): a logical slot whose
-- snapshot is exported, so the full extract reads exactly the state the slot's first change follows.
CREATE_REPLICATION_SLOT {slot} LOGICAL pgoutput (SNAPSHOT 'export')
