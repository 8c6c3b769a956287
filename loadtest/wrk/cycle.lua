-- wrk script for the side-by-side variants (loadtest/side_by_side.py): each
-- thread (one connection) runs the cycle of steps in STEPS again and again,
-- e.g. "hold,pay,cancel" or "hold,cancel,webhook", as holdcancel.lua (the
-- floor's yardstick, ../shared/perf) runs "hold,cancel".
--   hold     POST /api/v1/bookings/ (one seat; `seat_numbers` with SEATS=chosen)
--   pay      POST /api/v1/bookings/{reference}/payments/ (the hold just made)
--   cancel   POST /api/v1/bookings/{reference}/cancel/
--   webhook  POST /api/v1/payments/webhooks/sandbox/, the next signed body of
--            this thread's share of the pool (each confirms its own booking)
-- DATA_LUA names a file defining `flight_id`, `tokens`, and optionally
-- `seat_rows`, `seat_first_row`, `seat_letters` (a seat map) and `hooks`
-- (a list of {id, ts, sig, body}); THREADS is wrk's -t.
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  dofile(os.getenv("DATA_LUA"))
  local total = tonumber(os.getenv("THREADS"))
  per = math.floor(#tokens / total)
  steps = {}
  for s in string.gmatch(os.getenv("STEPS"), "[^,]+") do table.insert(steps, s) end
  chosen = os.getenv("SEATS") == "chosen"
  if chosen then
    letters = {}
    for l in string.gmatch(seat_letters, "%a") do table.insert(letters, l) end
    seats_per = math.floor(seat_rows / total) * #letters
    seat_n = tonumber(os.getenv("SEAT_START") or "0")
  end
  hooks_per, hook_n = 0, 0
  if hooks then hooks_per = math.floor(#hooks / total) end
  at, n, ref, tok = 1, 0, nil, nil
  holds, cancels, payments, webhooks, taken, bad = 0, 0, 0, 0, 0, 0
end

-- The next step; a webhook step is skipped once this thread's pool is spent
-- (the end of the run reports how many were sent).
function advance()
  at = at % #steps + 1
  if steps[at] == "webhook" and hook_n >= hooks_per then advance() end
end

-- This thread's next seat: its own rows, front to back, then round again.
function next_seat()
  local k = seat_n % seats_per
  seat_n = seat_n + 1
  local row = seat_first_row + tid * (seats_per / #letters) + math.floor(k / #letters)
  return row .. letters[k % #letters + 1]
end

function hold_body()
  local item = '{"type":"flight","flight_id":' .. flight_id .. ',"cabin_class":"economy","seats":1'
  if chosen then item = item .. ',"seat_numbers":["' .. next_seat() .. '"]' end
  return '{"items":[' .. item .. '}]}'
end

function authorized()
  return {["Content-Type"] = "application/json", ["Authorization"] = "Token " .. tok}
end

function request()
  local step = steps[at]
  if step == "hold" then
    n = n + 1
    tok = tokens[tid * per + (n % per) + 1]
    return wrk.format("POST", "/api/v1/bookings/", authorized(), hold_body())
  elseif step == "pay" then
    return wrk.format("POST", "/api/v1/bookings/" .. ref .. "/payments/", authorized(), "{}")
  elseif step == "cancel" then
    return wrk.format("POST", "/api/v1/bookings/" .. ref .. "/cancel/", authorized(), "{}")
  elseif step == "webhook" then
    hook_n = hook_n + 1
    local h = hooks[tid * hooks_per + hook_n]
    return wrk.format("POST", "/api/v1/payments/webhooks/sandbox/", {
      ["Content-Type"] = "application/json",
      ["webhook-id"] = h[1], ["webhook-timestamp"] = h[2], ["webhook-signature"] = h[3],
    }, h[4])
  end
end

-- What each step answers when it worked.
local ok = {hold = 201, pay = 201, cancel = 200, webhook = 200}

function response(status, headers, b)
  local step = steps[at]
  if status == ok[step] then
    if step == "hold" then
      holds = holds + 1
      ref = b:match('"reference"%s*:%s*"(%w+)"')
    elseif step == "pay" then payments = payments + 1
    elseif step == "cancel" then cancels = cancels + 1
    else webhooks = webhooks + 1 end
    advance()
  elseif step == "hold" and status == 409 and b:find("seat_unavailable", 1, true) then
    taken = taken + 1  -- a seat a run before left held: the next one
  else
    bad = bad + 1
    if bad < 3 then io.write(step .. " status " .. status .. ": " .. string.sub(b, 1, 200) .. "\n") end
    if step == "webhook" then advance()
    elseif step ~= "hold" then at = 1 end  -- start the cycle again with a new hold
  end
end

function done(summary, latency, requests)
  local t = {holds = 0, cancels = 0, bad = 0, payments = 0, webhooks = 0, taken = 0}
  local seat_next = 0
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + thread:get(k) end
    seat_next = math.max(seat_next, thread:get("seat_n") or 0)
  end
  -- seat_next: where the next run starts choosing (SEAT_START), past every
  -- seat this one chose, so it does not run into the holds this one left.
  io.write(string.format("holds=%d cancels=%d bad=%d payments=%d webhooks=%d taken=%d seat_next=%d\n",
    t.holds, t.cancels, t.bad, t.payments, t.webhooks, t.taken, seat_next))
end
