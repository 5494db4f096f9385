-- POST /v1/responses/batch with 1000 varied items. Env: NPS_BENCH_KEY, NPS_BENCH_SURVEY.
local key = os.getenv("NPS_BENCH_KEY")
local survey = os.getenv("NPS_BENCH_SURVEY")
local bodies = {}

function init(args)
  local teams = {"support", "sales", "success", "billing"}
  for b = 1, 4 do
    local items = {}
    for i = 1, 1000 do
      items[i] = string.format(
        '{"survey_id":"%s","score":%d,"comment":"imported answer %d",'
        .. '"segments":{"team":"%s","region":"r%d","plan":"p%d"}}',
        survey, (i * 7 + b) % 11, i, teams[(i % 4) + 1], i % 3, i % 5)
    end
    bodies[b] = '{"responses":[' .. table.concat(items, ",") .. ']}'
  end
end

function request()
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}
  return wrk.format("POST", nil, headers, bodies[math.random(#bodies)])
end

dofile(os.getenv("NPS_BENCH_DONE"))
