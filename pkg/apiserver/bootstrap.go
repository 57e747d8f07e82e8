package apiserver

import (
	"context"
	"crypto/subtle"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/apiserver/authz"
	"minik8s/pkg/apiserver/registry"
	"minik8s/pkg/pki"
)

// Bootstrap tokens are stored as Kubernetes stores them: a Secret named
// bootstrap-token-<id> in kube-system, of type bootstrap.kubernetes.io/token,
// whose data holds the fields below. `minictl token create` and `minictl
// init` write them; this file reads them.
const (
	BootstrapTokenSecretType     = "bootstrap.kubernetes.io/token"
	BootstrapTokenSecretPrefix   = "bootstrap-token-"
	BootstrapTokenNamespace      = "kube-system"
	BootstrapTokenIDKey          = "token-id"
	BootstrapTokenSecretKey      = "token-secret"
	BootstrapTokenExpirationKey  = "expiration"
	BootstrapTokenDescriptionKey = "description"
	BootstrapTokenExtraGroupsKey = "auth-extra-groups"
	// BootstrapTokenUsageAuthentication = "true" lets the token authenticate.
	BootstrapTokenUsageAuthentication = "usage-bootstrap-authentication"
	// BootstrapTokenUsageSigning = "true" has cluster-info signed with it.
	BootstrapTokenUsageSigning = "usage-bootstrap-signing"
	// DefaultBootstrapTokenSyncPeriod is how often expired tokens are
	// removed and the cluster-info signatures are brought up to date.
	DefaultBootstrapTokenSyncPeriod = 15 * time.Second
)

// extraGroupRE is what an auth-extra-groups entry must look like, as in
// Kubernetes: a token can only add groups under system:bootstrappers:.
var extraGroupRE = regexp.MustCompile(`^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$`)

// bootstrapToken is a parsed bootstrap-token Secret.
type bootstrapToken struct {
	id, secret     string
	expiration     time.Time // zero: never
	authentication bool
	signing        bool
	extraGroups    []string
}

// expired reports whether the token has expired at now.
func (t *bootstrapToken) expired(now time.Time) bool {
	return !t.expiration.IsZero() && !now.Before(t.expiration)
}

// parseBootstrapTokenSecret reads a bootstrap-token Secret; the error says
// what is wrong with it (for logs: it is never shown to a caller).
func parseBootstrapTokenSecret(s *v1.Secret) (*bootstrapToken, error) {
	if s.GetType() != BootstrapTokenSecretType {
		return nil, fmt.Errorf("type %q is not %q", s.GetType(), BootstrapTokenSecretType)
	}
	data := s.GetData()
	t := &bootstrapToken{
		id:             string(data[BootstrapTokenIDKey]),
		secret:         string(data[BootstrapTokenSecretKey]),
		authentication: string(data[BootstrapTokenUsageAuthentication]) == "true",
		signing:        string(data[BootstrapTokenUsageSigning]) == "true",
	}
	tok, err := pki.ParseToken(t.id + "." + t.secret)
	if err != nil {
		return nil, fmt.Errorf("token-id and token-secret: %w", err)
	}
	if want := BootstrapTokenSecretPrefix + tok.ID; s.GetMetadata().GetName() != want {
		return nil, fmt.Errorf("secret name %q does not match token-id %q", s.GetMetadata().GetName(), tok.ID)
	}
	if exp := string(data[BootstrapTokenExpirationKey]); exp != "" {
		t.expiration, err = time.Parse(time.RFC3339, exp)
		if err != nil {
			return nil, fmt.Errorf("expiration %q is not RFC 3339", exp)
		}
	}
	if g := strings.TrimSpace(string(data[BootstrapTokenExtraGroupsKey])); g != "" {
		for _, group := range strings.Split(g, ",") {
			group = strings.TrimSpace(group)
			if !extraGroupRE.MatchString(group) {
				return nil, fmt.Errorf("auth-extra-groups: %q is not of the form system:bootstrappers:<name>", group)
			}
			t.extraGroups = append(t.extraGroups, group)
		}
	}
	return t, nil
}

// secretGetter reads one Secret.
type secretGetter func(ctx context.Context, namespace, name string) (*v1.Secret, error)

// bootstrapTokens authenticates bootstrap tokens against their Secrets:
// identity system:bootstrap:<id> in system:bootstrappers plus the token's
// auth-extra-groups. Every token it sees is counted, so that a test (or an
// operator) can tell whether a token was ever presented.
type bootstrapTokens struct {
	get      secretGetter
	now      func() time.Time
	lg       *zap.Logger
	attempts *prometheus.CounterVec
}

var _ TokenAuthenticator = (*bootstrapTokens)(nil)

func newBootstrapTokens(get secretGetter, now func() time.Time, lg *zap.Logger, reg prometheus.Registerer) (*bootstrapTokens, error) {
	b := &bootstrapTokens{
		get: get,
		now: now,
		lg:  lg,
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_bootstrap_token_authentication_attempts_total",
			Help: "Bootstrap tokens presented to the apiserver, by result (success, failure, error).",
		}, []string{"result"}),
	}
	if err := reg.Register(b.attempts); err != nil {
		return nil, fmt.Errorf("register bootstrap token metrics: %w", err)
	}
	return b, nil
}

// errInvalidToken is the one answer a caller gets for a token that is not
// accepted, whatever the reason (the reason is logged), so that the answer
// does not tell which token IDs exist.
func errInvalidToken() error {
	return errdefs.Unauthenticated("invalid bootstrap token")
}

// AuthenticateToken implements TokenAuthenticator.
func (b *bootstrapTokens) AuthenticateToken(ctx context.Context, token string) (*authz.User, error) {
	u, err := b.authenticate(ctx, token)
	switch {
	case err == nil:
		b.attempts.WithLabelValues("success").Inc()
	case errdefs.IsUnauthenticated(err):
		b.attempts.WithLabelValues("failure").Inc()
	default:
		b.attempts.WithLabelValues("error").Inc()
	}
	return u, err
}

func (b *bootstrapTokens) authenticate(ctx context.Context, token string) (*authz.User, error) {
	tok, err := pki.ParseToken(token)
	if err != nil {
		b.lg.Debug("Refused a bearer token", zap.String("reason", "not a bootstrap token"))
		return nil, errInvalidToken()
	}
	refuse := func(reason string) (*authz.User, error) {
		b.lg.Info("Refused a bootstrap token", zap.String("tokenID", tok.ID), zap.String("reason", reason))
		return nil, errInvalidToken()
	}
	s, err := b.get(ctx, BootstrapTokenNamespace, BootstrapTokenSecretPrefix+tok.ID)
	if errdefs.IsNotFound(err) {
		return refuse("no such token")
	}
	if err != nil {
		return nil, errdefs.Wrap(errdefs.ClassUnavailable, err, "read bootstrap token")
	}
	if s.GetMetadata().GetDeletionTimestamp() != nil {
		return refuse("the token is being deleted")
	}
	t, err := parseBootstrapTokenSecret(s)
	if err != nil {
		return refuse(err.Error())
	}
	if subtle.ConstantTimeCompare([]byte(t.id), []byte(tok.ID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(t.secret), []byte(tok.Secret)) != 1 {
		return refuse("wrong token secret")
	}
	if t.expired(b.now()) {
		return refuse("the token expired at " + t.expiration.Format(time.RFC3339))
	}
	if !t.authentication {
		return refuse("the token is not for authentication (usage-bootstrap-authentication)")
	}
	groups := append([]string{authz.GroupBootstrappers}, t.extraGroups...)
	return &authz.User{Name: authz.BootstrapUserPrefix + tok.ID, Groups: groups}, nil
}

// tokenAuthenticators tries each authenticator in turn: the first that
// accepts the token wins; when none does, the last refusal is returned.
type tokenAuthenticators []TokenAuthenticator

func (ts tokenAuthenticators) AuthenticateToken(ctx context.Context, token string) (*authz.User, error) {
	err := errdefs.Unauthenticated("bearer tokens are not accepted by this apiserver")
	for _, t := range ts {
		var u *authz.User
		if u, err = t.AuthenticateToken(ctx, token); err == nil {
			return u, nil
		}
	}
	return nil, err
}

// setupBootstrap builds what the TLS bootstrap needs before the server
// serves: the bootstrap token authenticator (with --enable-bootstrap-token-auth)
// and the CSR signer. The registry they read is the one Run opens; it is in
// place before the first call is served.
func (s *Server) setupBootstrap() error {
	signer, err := newCSRSigner(s.cfg, s.lg.Named("csr"))
	if err != nil {
		return err
	}
	s.csr = signer
	if !s.cfg.EnableBootstrapTokenAuth {
		return nil
	}
	get := func(ctx context.Context, namespace, name string) (*v1.Secret, error) {
		reg := s.api.reg
		k, err := reg.Kind("secrets")
		if err != nil {
			return nil, err
		}
		obj, err := reg.Get(ctx, k, namespace, name)
		if err != nil {
			return nil, err
		}
		return obj.(*v1.Secret), nil
	}
	b, err := newBootstrapTokens(get, s.cfg.Now, s.lg.Named("bootstrap-token"), s.cfg.Registerer)
	if err != nil {
		return err
	}
	if s.tokens != nil {
		s.tokens = tokenAuthenticators{s.tokens, b}
	} else {
		s.tokens = b
	}
	return nil
}

// runBootstrap runs the background loops of the TLS bootstrap until ctx
// ends: the CSR approver and signer, and (with bootstrap token
// authentication) the token cleaner and cluster-info signer.
func (s *Server) runBootstrap(ctx context.Context, reg *registry.Registry) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.csr.run(ctx, reg) })
	if s.cfg.EnableBootstrapTokenAuth {
		tc := &tokenController{reg: reg, now: s.cfg.Now, period: s.cfg.BootstrapTokenSyncPeriod, lg: s.lg.Named("tokencleaner")}
		g.Go(func() error { return tc.run(ctx) })
	}
	return g.Wait()
}
