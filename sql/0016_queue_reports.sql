-- 0016: queue capacities as managed state. The desired capacity of a queue is the newest
-- QUEUE_CAPACITY command for it that was not refused, the acknowledged one the newest
-- ACKNOWLEDGED (both read from governance_commands); this table holds the third part, what
-- each region's registry reports (GET /v1/registry/queues, swept with the nodes).

CREATE TABLE queue_reports (
    region_id    text NOT NULL REFERENCES regions (id) ON DELETE CASCADE,
    queue        text NOT NULL CHECK (char_length(queue) BETWEEN 1 AND 200),
    capacity     integer NOT NULL CHECK (capacity >= 0),
    depth        integer NOT NULL CHECK (depth >= 0),
    reported_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (region_id, queue)
);

-- Desired and acknowledged capacities: the newest QUEUE_CAPACITY command per queue.
CREATE INDEX governance_commands_queue_capacity ON governance_commands (region_id, target, issued_at DESC)
    WHERE kind = 'QUEUE_CAPACITY';

GRANT SELECT ON queue_reports TO controlplane_app, controlplane_readonly;
GRANT SELECT, INSERT, UPDATE, DELETE ON queue_reports TO controlplane_sync;
