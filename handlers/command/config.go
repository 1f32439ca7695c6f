package command

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/readmodels"
)

// MessageLookup finds a message in the history read model. The recall, edit
// and reaction handlers and replies use it for a message older than the
// session state keeps.
type MessageLookup interface {
	MessageByID(ctx context.Context, sessionID, messageID string) (readmodels.Message, error)
}

// Config holds the dependencies and settings of the command handlers.
type Config struct {
	Store EventStore
	// History is consulted only for recalls, edits, reactions and replies
	// that name a message the session state no longer holds.
	History MessageLookup
	// Policy holds the session rules' limits; zero means domain.DefaultPolicy().
	Policy domain.Policy
	// CacheSize is how many session states stay in memory (default 10,000).
	CacheSize int
	// Now is the server clock (default time.Now).
	Now func() time.Time
	// NewID makes message and correlation ids (default random UUIDs).
	NewID func() string
	// Committed, when set, receives every append right after it is durable,
	// as the values it was made of: the fast path of delivery. It is called
	// under the session's lock, so one session's appends arrive in version
	// order; it must not block.
	Committed func(events.Committed)
	// Admission bounds the commands this node takes on (see Admission).
	Admission AdmissionConfig
	// Sealer, when set, seals message and edit content before it is
	// appended (events/sealing.Sealer); an erased sender's sends and edits
	// are then refused (KindForbidden, "user erased"). Nil appends content
	// in clear.
	Sealer ContentSealer
}

func (c *Config) setDefaults() {
	if c.Policy == (domain.Policy{}) {
		c.Policy = domain.DefaultPolicy()
	}
	if c.CacheSize <= 0 {
		c.CacheSize = 10000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.NewID == nil {
		c.NewID = uuid.NewString
	}
}

// Validate reports missing dependencies and bad settings.
func (c Config) Validate() error {
	if c.Store == nil {
		return errors.New("handlers config: nil Store")
	}
	if c.History == nil {
		return errors.New("handlers config: nil History")
	}
	if err := c.Policy.Validate(); err != nil {
		return fmt.Errorf("handlers config: %w", err)
	}
	return nil
}

// Commands holds one handler per command, sharing one session repository.
type Commands struct {
	Sessions      *SessionRepository
	Send          *SendHandler
	Ack           *AckHandler
	Recall        *RecallHandler
	Edit          *EditHandler
	React         *ReactHandler
	CreateGroup   *CreateGroupHandler
	ChangeMembers *ChangeMembersHandler
	Mute          *MuteHandler
}

// NewCommands builds the command handlers.
func NewCommands(cfg Config) (*Commands, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	repo, err := newSessionRepository(cfg.Store, cfg.Policy, cfg.CacheSize, cfg.Now, cfg.NewID, cfg.Committed,
		newAdmission(cfg.Admission, time.Now))
	if err != nil {
		return nil, err
	}
	repo.sealer = cfg.Sealer
	return &Commands{
		Sessions:      repo,
		Send:          &SendHandler{repo: repo, policy: cfg.Policy, history: cfg.History},
		Ack:           &AckHandler{repo: repo},
		Recall:        &RecallHandler{repo: repo, policy: cfg.Policy, history: cfg.History},
		Edit:          &EditHandler{repo: repo, policy: cfg.Policy, history: cfg.History},
		React:         &ReactHandler{repo: repo, policy: cfg.Policy, history: cfg.History},
		CreateGroup:   &CreateGroupHandler{repo: repo, policy: cfg.Policy},
		ChangeMembers: &ChangeMembersHandler{repo: repo, policy: cfg.Policy},
		Mute:          &MuteHandler{repo: repo},
	}, nil
}
