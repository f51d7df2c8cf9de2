-- VM benchmark: map and list work (twin of collections.hitl)
-- Each round fills a map with string keys, turns it into a list, and walks
-- both: iteration over the map (insertion order) and the list, reads and
-- writes by string key and by index.  hitl maps keep insertion order, so the
-- map is a table plus a list of its keys in the order they were added.
local rounds = 4000
local size = 300
local checksum = 0
for r = 0, rounds - 1 do
  local m, mkeys = {}, {}
  for i = 0, size - 1 do
    local k = "k" .. i % 100 .. "_" .. i
    if m[k] == nil then
      mkeys[#mkeys + 1] = k
    end
    m[k] = i * r % 1000
  end
  local l = {}
  for _, k in ipairs(mkeys) do
    local v = m[k]
    l[#l + 1] = v + #k
  end
  for _, x in ipairs(l) do
    checksum = checksum + x
  end
  for i = 0, size - 1 do
    local k = "k" .. i % 100 .. "_" .. i
    m[k] = m[k] + l[size - i]          -- l[size - 1 - i] 0-based
  end
  for _, k in ipairs(mkeys) do
    local v = m[k]
    checksum = checksum + v % 13
  end
  checksum = checksum + #mkeys + #l
end
print(checksum)
