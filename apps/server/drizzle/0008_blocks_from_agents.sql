-- Each agent's memory blocks (a jsonb list on its row) become block rows attached to it, in
-- its order. A block keeps the id it was shown with until now: sha256 of agent id, NUL and
-- label, laid out as a UUID.
INSERT INTO "blocks" ("id", "organization_id", "label", "value", "description", "limit", "read_only", "created_at", "updated_at")
SELECT
  'block-' || substr(d.h, 1, 8) || '-' || substr(d.h, 9, 4) || '-' || substr(d.h, 13, 4) || '-' || substr(d.h, 17, 4) || '-' || substr(d.h, 21, 12),
  a."organization_id",
  e.b->>'label',
  e.b->>'value',
  e.b->>'description',
  (e.b->>'limit')::integer,
  coalesce((e.b->>'read_only')::boolean, false),
  a."created_at",
  a."updated_at"
FROM "agents" a
CROSS JOIN LATERAL jsonb_array_elements(a."memory_blocks") AS e(b)
CROSS JOIN LATERAL (
  SELECT encode(sha256(convert_to(a."id", 'UTF8') || '\x00'::bytea || convert_to(e.b->>'label', 'UTF8')), 'hex') AS h
) d;
--> statement-breakpoint
INSERT INTO "agent_blocks" ("agent_id", "block_id", "organization_id", "label", "position")
SELECT
  a."id",
  'block-' || substr(d.h, 1, 8) || '-' || substr(d.h, 9, 4) || '-' || substr(d.h, 13, 4) || '-' || substr(d.h, 17, 4) || '-' || substr(d.h, 21, 12),
  a."organization_id",
  e.b->>'label',
  e.i::integer
FROM "agents" a
CROSS JOIN LATERAL jsonb_array_elements(a."memory_blocks") WITH ORDINALITY AS e(b, i)
CROSS JOIN LATERAL (
  SELECT encode(sha256(convert_to(a."id", 'UTF8') || '\x00'::bytea || convert_to(e.b->>'label', 'UTF8')), 'hex') AS h
) d;
