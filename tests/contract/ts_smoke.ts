// Smoke scenario through openapi-fetch typed by openapi-typescript from the spec.
// Run by tests/contract/test_generated_clients.py: `schema.ts` and `config.ts` are written
// next to this file in a temporary folder, `tsc --strict --noEmit` checks it, node runs it.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";
import { ADMIN_TOKEN, BASE_URL } from "./config.js";

type Problem = components["schemas"]["ProblemDetails"];
type Survey = components["schemas"]["SurveyOut"];
type Answer = components["schemas"]["ResponseCreate"];

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`failed: ${what}`);
}

function clientWith(token: string) {
  return createClient<paths>({ baseUrl: BASE_URL, headers: { Authorization: `Bearer ${token}` } });
}

async function tenantKey(): Promise<string> {
  const admin = clientWith(ADMIN_TOKEN);
  const tenant = await admin.POST("/v1/admin/tenants", { body: { name: "TypeScript client" } });
  check(tenant.data !== undefined, "tenant created");
  const key = await admin.POST("/v1/admin/tenants/{tenant_id}/keys", {
    params: { path: { tenant_id: tenant.data.id } },
    body: { name: "smoke", scopes: ["manage", "responses:write", "results:read"] },
  });
  check(key.data !== undefined, "key created");
  return key.data.key;
}

const answer = (survey: Survey, score: number, team: string): Answer => ({
  survey_id: survey.id,
  score,
  segments: { team },
});

async function recordAnswers(client: ReturnType<typeof clientWith>, survey: Survey): Promise<void> {
  const params = { header: { "Idempotency-Key": `smoke-${crypto.randomUUID()}` } };
  const body = answer(survey, 9, "sales");
  const first = await client.POST("/v1/responses", { params, body });
  const again = await client.POST("/v1/responses", { params, body });
  check(first.response.status === 201 && again.response.status === 201, "201 twice");
  check(first.data !== undefined && again.data !== undefined, "answers parsed");
  check(again.data.id === first.data.id, "the replay returns the same answer");
  check(again.response.headers.get("Idempotent-Replayed") === "true", "replay header");
  check(first.response.headers.get("Idempotent-Replayed") === null, "no replay header first");
  const scores: Array<[number, string]> = [[10, "sales"], [3, "support"], [7, "support"], [2, "support"], [10, "sales"]];
  const batch = await client.POST("/v1/responses/batch", {
    body: { responses: scores.map(([s, t]) => answer(survey, s, t)) },
  });
  check(batch.data !== undefined, "batch parsed");
  check(batch.data.results.every((r) => r.status === 201), "every batch item created");
}

async function readResults(client: ReturnType<typeof clientWith>, survey: Survey): Promise<void> {
  const nps = await client.GET("/v1/nps", { params: { query: { survey_id: survey.id } } });
  check(nps.data !== undefined, "nps parsed");
  check(nps.data.total === 6 && nps.data.promoters === 3 && nps.data.detractors === 2, "nps counts");
  const breakdown = await client.GET("/v1/nps/breakdown", {
    params: { query: { dimension: "team", survey_id: survey.id } },
  });
  check(breakdown.data !== undefined, "breakdown parsed");
  const totals = Object.fromEntries(breakdown.data.groups.map((g) => [g.value, g.total]));
  check(totals["sales"] === 3 && totals["support"] === 3, "breakdown totals");
}

async function followCursor(client: ReturnType<typeof clientWith>, survey: Survey): Promise<number> {
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (;;) {
    const query = cursor === undefined ? { survey_id: survey.id, limit: 2 } : { survey_id: survey.id, limit: 2, cursor };
    const page = await client.GET("/v1/responses", { params: { query } });
    check(page.data !== undefined, "page parsed");
    page.data.data.forEach((r) => seen.add(r.id));
    if (page.data.next_cursor === null || page.data.next_cursor === undefined) break;
    cursor = page.data.next_cursor;
  }
  check(seen.size === 6, `six answers paged, got ${seen.size}`);
  return seen.size;
}

async function typedProblem(client: ReturnType<typeof clientWith>): Promise<string> {
  const missing = await client.GET("/v1/surveys/{survey_id}", {
    params: { path: { survey_id: crypto.randomUUID() } },
  });
  check(missing.response.status === 404, "404 for an unknown survey");
  const problem: Problem | undefined = missing.error;
  check(problem !== undefined, "a typed problem");
  check(problem.status === 404, "problem status");
  return problem.title;
}

const client = clientWith(await tenantKey());
const created = await client.POST("/v1/surveys", { body: { name: "Smoke", kind: "relational" } });
check(created.response.status === 201 && created.data !== undefined, "survey created");
const survey = created.data;
await recordAnswers(client, survey);
await readResults(client, survey);
const pages = await followCursor(client, survey);
const title = await typedProblem(client);
console.log(`typescript client: survey ${survey.id}, ${pages} answers paged, problem title '${title}'`);
