-- wrk script for search throughput (loadtest/scale.py, loadtest/search_http.py):
-- PATHS_FILE lists request paths, one a line. With WARM=1 every request asks
-- the first one (a cache hit but for the first); otherwise each asks one drawn
-- at random, so nearly every request is a miss (a cold cache).
function init(args)
  paths = {}
  for line in io.lines(os.getenv("PATHS_FILE")) do table.insert(paths, line) end
  warm = os.getenv("WARM") == "1"
  math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0))
end

function request()
  local path = warm and paths[1] or paths[math.random(#paths)]
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  io.write(string.format("searches %d errors %d non2xx %d\n", summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout, summary.errors.status))
end
