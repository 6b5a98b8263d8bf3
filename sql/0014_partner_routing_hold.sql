-- 0014: when a region's partners were routed away, so the rules can hold that change for a
-- minimum time before routing them back (no flapping).

ALTER TABLE regions ADD COLUMN partner_routed_at timestamptz;
UPDATE regions SET partner_routed_at = now() WHERE partner_routing_to IS NOT NULL;
