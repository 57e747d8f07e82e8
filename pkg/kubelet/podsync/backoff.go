package podsync

import (
	"maps"
	"time"
)

// Kubernetes' backoff for container restarts and image pulls.
const (
	// InitialBackoff is the first wait.
	InitialBackoff = 10 * time.Second
	// MaxBackoff caps the doubling.
	MaxBackoff = 300 * time.Second
)

// Backoff is the backoff of one container (restarts) or image (pulls), as
// Kubernetes' flowcontrol.Backoff keeps it.
type Backoff struct {
	// Delay is the current wait.
	Delay time.Duration
	// LastUpdate is when the wait last grew (the last restart or failed pull).
	LastUpdate time.Time
}

// expired reports whether an event at eventTime is so long after the last
// update (twice MaxBackoff: ten minutes) that the backoff starts over. For a
// restart this is "the container ran for ten minutes".
func (b Backoff) expired(eventTime time.Time) bool {
	return eventTime.Sub(b.LastUpdate) > 2*MaxBackoff
}

// next is the backoff after one more restart or failure at now.
func next(b Backoff, ok bool, eventTime, now time.Time) Backoff {
	if !ok || b.expired(eventTime) {
		return Backoff{Delay: InitialBackoff, LastUpdate: now}
	}
	return Backoff{Delay: min(2*b.Delay, MaxBackoff), LastUpdate: now}
}

// PullFailure is a failed pull of an image, recorded by the pod worker.
type PullFailure struct {
	Backoff
	// Message is the pull error, shown with ErrImagePull.
	Message string
	// At is when the pull failed.
	At time.Time
	// Reported is set once a status showed ErrImagePull for this failure;
	// later statuses show ImagePullBackOff.
	Reported bool
}

// StartFailure is a container that could not be created or started,
// recorded by the pod worker.
type StartFailure struct {
	// Reason is CreateContainerError, RunContainerError, ... .
	Reason  string
	Message string
	At      time.Time
	// Reported is set once a status showed Reason; later statuses show
	// CrashLoopBackOff until the retry.
	Reported bool
}

// State is what the pod worker carries from one sync of a pod to the next:
// backoffs and failures. The zero State is a pod seen for the first time.
// Compute never changes the State it is given; it returns the next one.
type State struct {
	// Crash is the restart backoff per container name.
	Crash map[string]Backoff
	// Pulls are failed pulls per image.
	Pulls map[string]PullFailure
	// Starts are failed starts per container name.
	Starts map[string]StartFailure
}

// Clone returns a deep copy.
func (s State) Clone() State {
	return State{Crash: maps.Clone(s.Crash), Pulls: maps.Clone(s.Pulls), Starts: maps.Clone(s.Starts)}
}

// PullFailed records that pulling image failed at now with msg and returns
// the next State.
func (s State) PullFailed(image, msg string, now time.Time) State {
	s = s.Clone()
	if s.Pulls == nil {
		s.Pulls = make(map[string]PullFailure)
	}
	prev, ok := s.Pulls[image]
	s.Pulls[image] = PullFailure{Backoff: next(prev.Backoff, ok, now, now), Message: msg, At: now}
	return s
}

// PullSucceeded forgets the failures of image.
func (s State) PullSucceeded(image string) State {
	if _, ok := s.Pulls[image]; !ok {
		return s
	}
	s = s.Clone()
	delete(s.Pulls, image)
	return s
}

// StartFailed records that container name could not be created or started
// (reason as Kubernetes names it: CreateContainerError, RunContainerError)
// and returns the next State. The container's restart backoff grows.
func (s State) StartFailed(name, reason, msg string, now time.Time) State {
	s = s.Clone()
	if s.Starts == nil {
		s.Starts = make(map[string]StartFailure)
	}
	if s.Crash == nil {
		s.Crash = make(map[string]Backoff)
	}
	prev, ok := s.Crash[name]
	if !ok || prev.LastUpdate.Before(now) {
		s.Crash[name] = next(prev, ok, now, now)
	}
	s.Starts[name] = StartFailure{Reason: reason, Message: msg, At: now}
	return s
}
