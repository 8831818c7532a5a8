package main

// The config's `security` (docs/worker-protocol.md): SASL and TLS in sarama's own terms. SCRAM
// needs a client from outside sarama; xdg-go/scram is the one sarama's own examples use.

import (
	"crypto/tls"
	"crypto/x509"
	"os"

	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"
)

// Security is how the client authenticates; nil: plaintext.
type Security struct {
	Protocol string `json:"protocol"`
	SASL     *struct {
		Mechanism string `json:"mechanism"`
		Username  string `json:"username"`
		Password  string `json:"password"`
	} `json:"sasl"`
	CAFile string `json:"ca_file"`
}

// applySecurity sets sc's Net.SASL and Net.TLS from s.
func applySecurity(sc *sarama.Config, s *Security) error {
	if s == nil {
		return nil
	}
	var sasl, tlsOn bool
	switch s.Protocol {
	case "PLAINTEXT":
	case "SSL":
		tlsOn = true
	case "SASL_PLAINTEXT":
		sasl = true
	case "SASL_SSL":
		sasl, tlsOn = true, true
	default:
		return invalid("security.protocol %q: one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL", s.Protocol)
	}
	if sasl != (s.SASL != nil) {
		return invalid("security: protocol %s and sasl do not agree", s.Protocol)
	}
	if sasl {
		sc.Net.SASL.Enable = true
		sc.Net.SASL.Handshake = true
		sc.Net.SASL.User = s.SASL.Username
		sc.Net.SASL.Password = s.SASL.Password
		switch s.SASL.Mechanism {
		case "PLAIN":
			sc.Net.SASL.Mechanism = sarama.SASLTypePlaintext
		case "SCRAM-SHA-256":
			sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
			sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.SHA256} }
		case "SCRAM-SHA-512":
			sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
			sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.SHA512} }
		default:
			return invalid("security.sasl.mechanism %q: one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", s.SASL.Mechanism)
		}
	}
	if tlsOn {
		config := &tls.Config{MinVersion: tls.VersionTLS12}
		if s.CAFile != "" {
			pem, err := os.ReadFile(s.CAFile)
			if err != nil {
				return invalid("security.ca_file: %v", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return invalid("security.ca_file %s: no PEM certificate in it", s.CAFile)
			}
			config.RootCAs = pool
		}
		sc.Net.TLS.Enable = true
		sc.Net.TLS.Config = config
	} else if s.CAFile != "" {
		return invalid("security.ca_file is for TLS; protocol %s does not use it", s.Protocol)
	}
	return nil
}

// scramClient is sarama.SCRAMClient over xdg-go/scram.
type scramClient struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (c *scramClient) Begin(user, password, authzID string) error {
	client, err := c.hash.NewClient(user, password, authzID)
	if err != nil {
		return err
	}
	c.conv = client.NewConversation()
	return nil
}

func (c *scramClient) Step(challenge string) (string, error) { return c.conv.Step(challenge) }

func (c *scramClient) Done() bool { return c.conv.Done() }

