ALTER TABLE "agents" ADD COLUMN "tools" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
-- Agents made before tools existed get the base tools, as new agents do by default.
UPDATE "agents" SET "tools" = '["memory_insert","memory_replace","memory_rethink","conversation_search"]'::jsonb;
