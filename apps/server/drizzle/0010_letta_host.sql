CREATE TABLE "letta_tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"user_id" text NOT NULL,
	"session_id_hash" text NOT NULL,
	"agent_id" text NOT NULL,
	"token_hash" text NOT NULL,
	"token_ciphertext" text,
	"hint" text NOT NULL,
	"hostname" text NOT NULL,
	"policy" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "letta_tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
ALTER TABLE "users" ALTER COLUMN "agent_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "letta_agent_id" text;--> statement-breakpoint
ALTER TABLE "letta_tokens" ADD CONSTRAINT "letta_tokens_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "letta_tokens" ADD CONSTRAINT "letta_tokens_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "letta_tokens_live_idx" ON "letta_tokens" USING btree ("organization_id","created_at","id") WHERE "letta_tokens"."revoked_at" is null;--> statement-breakpoint
CREATE INDEX "letta_tokens_session_idx" ON "letta_tokens" USING btree ("session_id_hash") WHERE "letta_tokens"."revoked_at" is null;--> statement-breakpoint
CREATE INDEX "letta_tokens_expires_idx" ON "letta_tokens" USING btree ("expires_at");--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_one_agent" CHECK (("users"."agent_id" is null) <> ("users"."letta_agent_id" is null));