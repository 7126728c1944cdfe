CREATE TABLE "agent_blocks" (
	"agent_id" text NOT NULL,
	"block_id" text NOT NULL,
	"organization_id" text NOT NULL,
	"label" text NOT NULL,
	"position" integer NOT NULL,
	CONSTRAINT "agent_blocks_agent_id_block_id_pk" PRIMARY KEY("agent_id","block_id")
);
--> statement-breakpoint
CREATE TABLE "blocks" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"label" text NOT NULL,
	"value" text NOT NULL,
	"description" text,
	"limit" integer,
	"read_only" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "blocks_id_organization_unique" UNIQUE("id","organization_id")
);
--> statement-breakpoint
ALTER TABLE "agent_blocks" ADD CONSTRAINT "agent_blocks_agent_id_organization_id_agents_id_organization_id_fk" FOREIGN KEY ("agent_id","organization_id") REFERENCES "public"."agents"("id","organization_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_blocks" ADD CONSTRAINT "agent_blocks_block_id_organization_id_blocks_id_organization_id_fk" FOREIGN KEY ("block_id","organization_id") REFERENCES "public"."blocks"("id","organization_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "blocks" ADD CONSTRAINT "blocks_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "agent_blocks_agent_label_idx" ON "agent_blocks" USING btree ("agent_id","label");--> statement-breakpoint
CREATE INDEX "agent_blocks_block_idx" ON "agent_blocks" USING btree ("block_id");--> statement-breakpoint
CREATE INDEX "blocks_organization_idx" ON "blocks" USING btree ("organization_id","created_at","id");