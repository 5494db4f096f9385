-- POST /v1/responses (or the no-op baseline) with realistic, varied bodies and unique
-- Idempotency-Keys. Env: NPS_BENCH_KEY, NPS_BENCH_SURVEY, NPS_BENCH_RUN; with
-- NPS_BENCH_TENANTS ("key survey;key survey;..."), each request goes to one of those at random.
local key = os.getenv("NPS_BENCH_KEY")
local survey = os.getenv("NPS_BENCH_SURVEY")
local tenants = {}
for k, s in string.gmatch(os.getenv("NPS_BENCH_TENANTS") or "", "([^;%s]+) ([^;%s]+)") do
  tenants[#tenants + 1] = {k, s}
end
local run = os.getenv("NPS_BENCH_RUN") or "0"
local teams = {"support", "sales", "success", "billing", "onboarding", "platform"}
local regions = {"emea", "amer", "apac"}
local plans = {"free", "team", "business", "enterprise"}
local comments = {
  "Support answered within minutes, great job.",
  "The new dashboard is confusing and slow to load.",
  "Pricing is fair but the invoices are hard to read.",
  "Onboarding took longer than promised.",
}
local counter = 0
local threads = 0

-- Runs in the main state: gives each thread its own id (a global there, not a local).
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function request()
  counter = counter + 1
  if #tenants > 0 then
    local t = tenants[math.random(#tenants)]
    key, survey = t[1], t[2]
  end
  local score = math.random(0, 10)
  local body = string.format(
    '{"survey_id":"%s","score":%d,"comment":"%s","customer_id":"cus_%d",'
    .. '"segments":{"team":"%s","region":"%s","plan":"%s"}}',
    survey, score, comments[math.random(#comments)], math.random(1, 100000),
    teams[math.random(#teams)], regions[math.random(#regions)], plans[math.random(#plans)])
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. key,
    ["Idempotency-Key"] = run .. "-" .. tostring(tid) .. "-" .. counter,
  }
  return wrk.format("POST", nil, headers, body)
end

dofile(os.getenv("NPS_BENCH_DONE"))
