package leads

import (
	"strings"
	"time"
)

// Team groups sales reps; leads may be required to name one.
type Team struct {
	ID        int64     `json:"id"`
	AccountID string    `json:"accountId"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Validate checks the team's name.
func (t *Team) Validate() error {
	return validateName(&t.Name)
}

// LeadSource is where a team's leads come from (a form, a campaign, a bot).
type LeadSource struct {
	ID        int64     `json:"id"`
	AccountID string    `json:"accountId"`
	TeamID    int64     `json:"teamId"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Validate checks the lead source's name.
func (s *LeadSource) Validate() error {
	return validateName(&s.Name)
}

func validateName(name *string) error {
	*name = strings.TrimSpace(*name)
	if *name == "" {
		return ValidationError(FieldError{"name", *name, "Is required"})
	}
	return checkText("name", *name, MaxShortTextLength)
}
