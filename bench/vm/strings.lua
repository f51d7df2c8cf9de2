-- VM benchmark: string building (twin of strings.hitl)
-- Each round builds a string piece by piece ("k0=0;k1=R;..."), splits it on
-- ";", measures the pieces and joins them again with "|".

-- split(s, sep) as hitl's built-in: the pieces between occurrences of sep,
-- empty pieces kept (one-character separator)
local function split(s, sep)
  local parts = {}
  for piece in string.gmatch(s .. sep, "([^" .. sep .. "]*)" .. sep) do
    parts[#parts + 1] = piece
  end
  return parts
end

local rounds = 10000
local pieces = 120
local checksum = 0
for r = 0, rounds - 1 do
  local s = ""
  for i = 0, pieces - 1 do
    s = s .. "k" .. i .. "=" .. i * r .. ";"
  end
  checksum = checksum + #s
  local parts = split(s, ";")
  for _, p in ipairs(parts) do
    checksum = checksum + #p
  end
  local joined = table.concat(parts, "|")
  checksum = checksum + #joined + #parts
end
print(checksum)
