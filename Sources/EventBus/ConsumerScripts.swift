/// The two Lua scripts that make a consumer's dedup check atomic and cost one round trip per
/// read batch each. A group keeps two sorted sets:
///
/// - `vakt:dedup:<group>`: event ids whose handler returned, scored by when (trimmed to the
///   dedup window by rank);
/// - `vakt:inflight:<group>`: event ids some consumer of the group is handling now, scored by
///   when that lease ends.
///
/// `acquire` answers for each id: 0, handled already (a duplicate: acknowledge it); 1, leased to
/// the caller (run the handler); 2, leased to another consumer that is handling it now (leave
/// the entry pending). Checking and leasing in one script means two consumers of one group
/// (two of one name reading the same pending entries, or one that claimed a slow handler's
/// entry) never both run the handler for one event id. `record` marks ids handled and ends
/// their leases (or only ends them, for a failed handler), and drops leases that ran out.
enum ConsumerScripts {
    /// KEYS: dedup, inflight, courtesy. ARGV: now (ms), lease end (ms), n, n event ids, then
    /// the n entries ("stream entry-id") when they were redelivered (none for a first read).
    /// Returns the answers, and for each entry the deliveries it had while another consumer
    /// held its event.
    ///
    /// Every claim and every re-read of a pending entry counts as a delivery in Redis, also
    /// while the event is leased elsewhere; those deliveries are counted in the courtesy hash,
    /// so that an event held by a slow (or killed) consumer is not taken for poison afterwards.
    static let acquire = """
        local n = tonumber(ARGV[3])
        local ids = {unpack(ARGV, 4, 3 + n)}
        local handled = redis.call('ZMSCORE', KEYS[1], unpack(ids))
        local leased = redis.call('ZMSCORE', KEYS[2], unpack(ids))
        local now = tonumber(ARGV[1])
        local redelivered = #ARGV > 3 + n
        local answers, courtesy, leases = {}, {}, {}
        for k = 1, n do
          courtesy[k] = 0
          if handled[k] then
            answers[k] = 0
          elseif leased[k] and tonumber(leased[k]) > now then
            answers[k] = 2
            if redelivered then redis.call('HINCRBY', KEYS[3], ARGV[3 + n + k], 1) end
          else
            answers[k] = 1
            leases[#leases + 1] = ARGV[2]
            leases[#leases + 1] = ids[k]
            if redelivered then courtesy[k] = tonumber(redis.call('HGET', KEYS[3], ARGV[3 + n + k]) or '0') end
          end
        end
        if #leases > 0 then redis.call('ZADD', KEYS[2], unpack(leases)) end
        return {answers, courtesy}
        """

    /// KEYS: dedup, inflight. ARGV: now (ms), dedup window, handled count n, n handled ids,
    /// then ids whose lease ends without being handled.
    static let record = """
        local now, window, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
        if n > 0 then
          local members = {}
          for i = 4, 3 + n do
            members[#members + 1] = now
            members[#members + 1] = ARGV[i]
          end
          redis.call('ZADD', KEYS[1], unpack(members))
          redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(window + 1))
        end
        if #ARGV > 3 then redis.call('ZREM', KEYS[2], unpack(ARGV, 4)) end
        redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. now)
        return n
        """
}
