package leads

import "time"

// Away is a placeholder until the availability model lands (issue 14).
func (c *AccountConfig) Away(user string, at time.Time) string { return "" }
