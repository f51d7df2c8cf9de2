-- VM benchmark: an integer loop with % and a branch (twin of loop.hitl)
-- checksum = sum over i < n of (i % 7 * i when i % 3 == 0, else -(i % 5))
local n = 60000000
local checksum = 0
for i = 0, n - 1 do
  if i % 3 == 0 then
    checksum = checksum + i % 7 * i
  else
    checksum = checksum - i % 5
  end
end
print(checksum)
