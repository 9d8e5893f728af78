-- wrk script for bench/ingest.py and bench/openrosa.py: POST one response per request, each with a new id.
-- Arguments after `--`: facility id, API key (may be empty for the floor app).
local counter = 0
local prefix = ""
function init(args)
  fid = args[1]
  key = args[2]
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
  prefix = string.format("%08x", math.random(0, 0x7fffffff))
end
request = function()
  counter = counter + 1
  local id = string.format("%s-%04x-4%03x-8%03x-%012x", prefix, math.random(0, 0xffff), math.random(0, 0xfff), math.random(0, 0xfff), counter)
  local body = '{"id":"' .. id .. '","questionnaire":"loans","version":2,"facility_id":"' .. fid .. '",' ..
    '"answers":{"needs_loan":true,"loan_amount_vnd":500000000,"loan_purpose":["machinery","workshop"],' ..
    '"loan_term_months":36,"has_collateral":true,"collateral_type":"land_use_rights","counterpart_funds_vnd":150000000,' ..
    '"wants_interest_subsidy":true,"outstanding_loans_vnd":0,"borrowing_sources":["policy_bank"]},' ..
    '"collected_at":"2026-11-20T08:30:00+07:00","location":{"lat":11.94,"lon":108.44,"accuracy_m":12}}'
  local headers = {["Content-Type"] = "application/json"}
  if key ~= nil and key ~= "" then headers["Authorization"] = "Bearer " .. key end
  return wrk.format("POST", "/api/v1/responses", headers, body)
end
