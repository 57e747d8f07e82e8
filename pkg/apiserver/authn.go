package apiserver

import (
	"context"
	"strings"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/apiserver/authz"
)

// TokenAuthenticator authenticates a bearer token (a bootstrap token):
// the identity it stands for, or an errdefs.Unauthenticated error for a
// token that is unknown, expired or malformed.
type TokenAuthenticator interface {
	AuthenticateToken(ctx context.Context, token string) (*authz.User, error)
}

// anonymousUser is who calls a public method without credentials.
func anonymousUser() *authz.User {
	return &authz.User{Name: authz.UserAnonymous, Groups: []string{authz.GroupUnauthenticated}}
}

// authenticate finds who is calling: the subject of a client certificate
// the TLS handshake verified against the cluster CA (CN = user, O =
// groups), else a bearer token when a TokenAuthenticator is configured.
// A method marked public admits anonymous callers.
func (s *Server) authenticate(ctx context.Context, public bool) (*authz.User, error) {
	if p, ok := peer.FromContext(ctx); ok {
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.VerifiedChains) > 0 && len(ti.State.VerifiedChains[0]) > 0 {
			leaf := ti.State.VerifiedChains[0][0]
			if leaf.Subject.CommonName == "" {
				return nil, errdefs.Unauthenticated("the client certificate has no common name")
			}
			return &authz.User{Name: leaf.Subject.CommonName, Groups: leaf.Subject.Organization}, nil
		}
	}
	if tok, ok := bearerToken(ctx); ok {
		if s.tokens == nil {
			return nil, errdefs.Unauthenticated("bearer tokens are not accepted by this apiserver")
		}
		u, err := s.tokens.AuthenticateToken(ctx, tok)
		if err != nil {
			if errdefs.ClassOf(err) != errdefs.ClassUnauthenticated {
				return nil, errdefs.Wrap(errdefs.ClassUnauthenticated, err, "authenticate bearer token")
			}
			return nil, err
		}
		return u, nil
	}
	if public {
		return anonymousUser(), nil
	}
	return nil, errdefs.Unauthenticated("a client certificate signed by the cluster CA is required")
}

func bearerToken(ctx context.Context) (string, bool) {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return "", false
	}
	for _, v := range md.Get("authorization") {
		if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
			return strings.TrimSpace(v[7:]), true
		}
	}
	return "", false
}
