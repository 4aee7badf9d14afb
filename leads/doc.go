// Package leads is the domain of leadrotor: leads, the teams and lead sources
// that an account's rules require them to name, and the rotations that hand
// them to sales reps in turn.
//
// The Service enforces the rules of creating a lead (see Service.Create) and
// is the whole engine: it depends only on the two small interfaces defined
// here, Store (persistence) and Rotator (turn decisions), so that it knows
// nothing of SQL, Redis or HTTP. Package store implements Store on SQLite and
// PostgreSQL; package rotation implements Rotator in process and on Redis.
//
// Every failure the caller can act on is an *Error with a stable Code; see
// ErrorCode.
package leads
