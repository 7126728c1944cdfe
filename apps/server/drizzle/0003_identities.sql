CREATE TYPE "public"."identity_type" AS ENUM('org', 'user', 'other');--> statement-breakpoint
CREATE TABLE "agent_identities" (
	"agent_id" text NOT NULL,
	"identity_id" text NOT NULL,
	CONSTRAINT "agent_identities_agent_id_identity_id_pk" PRIMARY KEY("agent_id","identity_id")
);
--> statement-breakpoint
CREATE TABLE "identities" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"identifier_key" text NOT NULL,
	"name" text NOT NULL,
	"identity_type" "identity_type" NOT NULL,
	"properties" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "agent_identities" ADD CONSTRAINT "agent_identities_agent_id_agents_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."agents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_identities" ADD CONSTRAINT "agent_identities_identity_id_identities_id_fk" FOREIGN KEY ("identity_id") REFERENCES "public"."identities"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "identities" ADD CONSTRAINT "identities_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "agent_identities_identity_idx" ON "agent_identities" USING btree ("identity_id","agent_id");--> statement-breakpoint
CREATE UNIQUE INDEX "identities_key_idx" ON "identities" USING btree ("organization_id","identifier_key");--> statement-breakpoint
CREATE INDEX "identities_organization_idx" ON "identities" USING btree ("organization_id","created_at","id");