"""Following a cell's dedicated channels from its Immediate Assignments:
`follower.TrafficFollower` (bursts + CCCH frames -> dedicated-channel frames,
layer-3 events, captured SMS, counts) and `bursts` (the decode-bursts hook)."""
