package demosite

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Server serves a site on a listening socket.
type Server struct {
	// Addr is the address it listens on (the port chosen, for port 0).
	Addr net.Addr
	srv  *http.Server
	errc chan error
}

// Listen serves site on addr (host:port; port 0: any free port).
func Listen(addr string, site *Site) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: ln.Addr(), srv: &http.Server{Handler: site.Handler(), ReadHeaderTimeout: 10 * time.Second}, errc: make(chan error, 1)}
	go func() { s.errc <- s.srv.Serve(ln) }()
	return s, nil
}

// URL is the site's root: http://host:port/.
func (s *Server) URL() string { return "http://" + s.Addr.String() + "/" }

// Close stops the server at once.
func (s *Server) Close() error { return s.srv.Close() }

// Wait serves until ctx ends, then shuts down, letting requests finish
// within five seconds; or until the server fails.
func (s *Server) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return s.srv.Shutdown(sctx)
	case err := <-s.errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}
