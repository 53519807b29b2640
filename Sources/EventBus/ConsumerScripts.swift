/// What a consumer group keeps in Redis to run each event's handler once, and the scripts that
/// check and change it atomically, one round trip per read batch:
///
/// - `vakt:events:<group>`, a hash from event id to its state: `h` once its handler returned,
///   or the lease of the consumer handling it now (when it ends, in ms, and who holds it);
/// - `vakt:handled:<group>`, a list of the handled ids, oldest first, that bounds the hash to
///   the dedup window: ids falling out of it leave the hash;
/// - `vakt:attempts:<group>`, for entries read again (pending or claimed), how many times a
///   consumer got the lease to run their handler: what decides that an entry is poison.
///
/// A hash and a list rather than sorted sets: the check and both writes are constant time, and
/// inserting every handled id into a sorted set of the window's size was most of what Redis
/// spent on a consumed event. A lease whose consumer died stays until the event is read again
/// (a claim), when it has ended and is taken over.
///
/// Recording handled ids needs no script (`HSET id h`, `RPUSH`, in the acknowledging pipeline);
/// the window is trimmed by ``trim`` once the list is ``trimSlack`` past it.
enum ConsumerScripts {
    /// Calls `command key ...` for `values` in chunks: Lua's stack takes about 8,000 values.
    private static let chunked = """
        local function chunked(command, key, values)
          for first = 1, #values, 4000 do
            redis.call(command, key, unpack(values, first, math.min(first + 3999, #values)))
          end
        end

        """

    /// KEYS: events, attempts. ARGV: now (ms), lease end (ms), the caller's lease owner name,
    /// whether to take back the caller's own leases ("1") or respect them ("0"), n, n event ids,
    /// then the n entries ("stream entry-id") when they were read again (none for a first read).
    ///
    /// Answers one digit per id, as a string: 0, handled already (a duplicate: acknowledge it);
    /// 1, now leased to the caller (run the handler); 2, leased to another consumer that is
    /// handling it now (leave the entry pending). Checking and leasing in one script means two
    /// consumers of one group (two of one name reading the same pending entries, or one that
    /// claimed a slow handler's entry) never both run the handler for one event id. A lease is
    /// stored as `end:owner`.
    ///
    /// For entries read again, a second answer gives each leased one's attempt count (how many
    /// times a consumer got it to run its handler after its first delivery), 0 for the others.
    /// Counting leases rather than Redis's delivery count means that claims of an entry while
    /// another consumer holds or is about to lease it never make it look like poison, while a
    /// handler that throws or crashes its process every time is still caught.
    static let acquire =
        chunked + "\n" + """
            local now, owner, reclaim, n = tonumber(ARGV[1]), ARGV[3], ARGV[4] == '1', tonumber(ARGV[5])
            local lease = ARGV[2] .. ':' .. owner
            local redelivered = #ARGV > 5 + n
            local answers, leases, attempts, leased = {}, {}, {}, 0
            for first = 6, 5 + n, 4000 do
              local states = redis.call('HMGET', KEYS[1], unpack(ARGV, first, math.min(first + 3999, 5 + n)))
              for i, state in ipairs(states) do
                local k = first - 6 + i
                local ends, holder
                if state and state ~= 'h' then ends, holder = string.match(state, '^(%d+):(.*)$') end
                if state == 'h' then
                  answers[k] = '0'
                elseif ends and tonumber(ends) > now and not (reclaim and holder == owner) then
                  answers[k] = '2'
                else
                  answers[k] = '1'
                  leases[leased + 1] = ARGV[5 + k]
                  leases[leased + 2] = lease
                  leased = leased + 2
                end
                if redelivered then
                  attempts[k] = answers[k] == '1' and redis.call('HINCRBY', KEYS[2], ARGV[5 + n + k], 1) or 0
                end
              end
            end
            if leased > 0 then chunked('HSET', KEYS[1], leases) end
            if redelivered then return {table.concat(answers), attempts} end
            return {table.concat(answers)}
            """

    /// KEYS: events. ARGV: ids whose lease ends without being handled (a failed handler). A
    /// lease is ended only if it is still one: one that ran out may have been taken, and the
    /// event handled, by another consumer meanwhile.
    static let release = """
        local released = {}
        for i = 1, #ARGV do
          local state = redis.call('HGET', KEYS[1], ARGV[i])
          if state and state ~= 'h' then released[#released + 1] = ARGV[i] end
        end
        for first = 1, #released, 4000 do
          redis.call('HDEL', KEYS[1], unpack(released, first, math.min(first + 3999, #released)))
        end
        return #released
        """

    /// KEYS: events. ARGV: the new lease (`end:owner`), the owner, then ids. Extends each lease
    /// the owner still holds; answers one digit per id, 1 renewed, 0 no longer the owner's (it
    /// ran out and another consumer took it, or it was handled).
    static let renew = """
        local lease, owner = ARGV[1], ARGV[2]
        local answers = {}
        for i = 3, #ARGV do
          local state = redis.call('HGET', KEYS[1], ARGV[i])
          local holder
          if state and state ~= 'h' then holder = select(2, string.match(state, '^(%d+):(.*)$')) end
          if holder == owner then
            redis.call('HSET', KEYS[1], ARGV[i], lease)
            answers[i - 2] = '1'
          else
            answers[i - 2] = '0'
          end
        end
        return table.concat(answers)
        """

    /// KEYS: events, handled. ARGV: the dedup window. Drops the oldest handled ids past it.
    static let trim =
        chunked + """
            local excess = redis.call('LLEN', KEYS[2]) - tonumber(ARGV[1])
            if excess > 0 then chunked('HDEL', KEYS[1], redis.call('LPOP', KEYS[2], excess)) end
            return math.max(excess, 0)
            """

    /// How far the handled list may grow past the window before it is trimmed: trimming in
    /// steps keeps it off the path of every batch.
    static func trimSlack(window: Int) -> Int { min(max(window / 10, 100), 2_000) }
}
