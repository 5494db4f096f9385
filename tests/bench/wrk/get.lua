-- GET of one path with the API key. Env: NPS_BENCH_KEY, NPS_BENCH_PATH.
local key = os.getenv("NPS_BENCH_KEY") or ""
local path = os.getenv("NPS_BENCH_PATH")

function request()
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. key})
end

dofile(os.getenv("NPS_BENCH_DONE"))
