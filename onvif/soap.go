package onvif

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Namespaces of the messages.
const (
	nsSOAP      = "http://www.w3.org/2003/05/soap-envelope"
	nsAddr      = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	nsDiscovery = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
	nsDevice    = "http://www.onvif.org/ver10/device/wsdl"
	nsMedia     = "http://www.onvif.org/ver10/media/wsdl"
	nsSchema    = "http://www.onvif.org/ver10/schema"
	nsNetwork   = "http://www.onvif.org/ver10/network/wsdl"
	nsSecurity  = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	nsUtility   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	passDigest  = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
	nonceBase64 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)

// MaxResponse bounds what is read of any answer.
const MaxResponse = 1 << 20

// Fault is a SOAP fault a device answered.
type Fault struct {
	Code    string // e.g. env:Sender, with its subcode ter:NotAuthorized
	Subcode string
	Reason  string
}

func (f *Fault) Error() string {
	s := "device fault " + f.Code
	if f.Subcode != "" {
		s += "/" + f.Subcode
	}
	if f.Reason != "" {
		s += ": " + f.Reason
	}
	return s
}

// Invalid reports whether the fault refuses the request's arguments (a
// position out of range, a preset that does not exist): the caller's
// mistake, not the device's.
func (f *Fault) Invalid() bool {
	for _, s := range []string{"InvalidArgVal", "InvalidArgs", "InvalidPosition", "NoToken", "NoProfile"} {
		if strings.HasSuffix(f.Subcode, s) {
			return true
		}
	}
	return false
}

// InputError is a request the client refuses before sending it: a
// coordinate out of range, a preset token or name that cannot be one.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func inputErrorf(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// NotAuthorized reports whether the fault refuses the credentials.
func (f *Fault) NotAuthorized() bool { return strings.HasSuffix(f.Subcode, "NotAuthorized") }

// envelope writes a SOAP 1.2 envelope around body, with a UsernameToken
// when user is set.
func envelope(body, user, password string, now time.Time) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	b.WriteString(`<s:Envelope xmlns:s="` + nsSOAP + `" xmlns:tds="` + nsDevice + `" xmlns:trt="` + nsMedia + `" xmlns:tt="` + nsSchema + `">`)
	if user != "" {
		b.WriteString(`<s:Header>`)
		b.WriteString(usernameToken(user, password, now))
		b.WriteString(`</s:Header>`)
	}
	b.WriteString(`<s:Body>` + body + `</s:Body></s:Envelope>`)
	return []byte(b.String())
}

// usernameToken is a WS-Security UsernameToken with a password digest:
// base64(sha1(nonce + created + password)).
func usernameToken(user, password string, now time.Time) string {
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	created := now.UTC().Format("2006-01-02T15:04:05.000Z")
	return `<wsse:Security s:mustUnderstand="1" xmlns:wsse="` + nsSecurity + `" xmlns:wsu="` + nsUtility + `">` +
		`<wsse:UsernameToken><wsse:Username>` + xmlText(user) + `</wsse:Username>` +
		`<wsse:Password Type="` + passDigest + `">` + PasswordDigest(nonce, created, password) + `</wsse:Password>` +
		`<wsse:Nonce EncodingType="` + nonceBase64 + `">` + base64.StdEncoding.EncodeToString(nonce) + `</wsse:Nonce>` +
		`<wsu:Created>` + created + `</wsu:Created></wsse:UsernameToken></wsse:Security>`
}

// PasswordDigest is the UsernameToken digest of a password.
func PasswordDigest(nonce []byte, created, password string) string {
	h := sha1.New()
	h.Write(nonce)
	h.Write([]byte(created))
	h.Write([]byte(password))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// rawEnvelope is any envelope: its header's RelatesTo and its body, kept
// raw for the caller's type.
type rawEnvelope struct {
	XMLName xml.Name `xml:"Envelope"`
	Header  struct {
		RelatesTo string `xml:"RelatesTo"`
		Action    string `xml:"Action"`
	} `xml:"Header"`
	Body struct {
		Fault *struct {
			Code struct {
				Value   string `xml:"Value"`
				Subcode struct {
					Value string `xml:"Value"`
				} `xml:"Subcode"`
			} `xml:"Code"`
			Reason struct {
				Text []string `xml:"Text"`
			} `xml:"Reason"`
		} `xml:"Fault"`
		Inner []byte `xml:",innerxml"`
	} `xml:"Body"`
}

// readEnvelope parses an answer: a fault is an error; else the body is
// decoded into v (a struct whose XMLName is the answer's element).
func readEnvelope(r io.Reader, v any) (*rawEnvelope, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("read the answer: %w", err)
	}
	if len(data) > MaxResponse {
		return nil, fmt.Errorf("the answer is over %d bytes", MaxResponse)
	}
	var env rawEnvelope
	if err := xml.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("the answer is not a SOAP envelope: %v", err)
	}
	if env.XMLName.Space != nsSOAP && env.XMLName.Space != "http://schemas.xmlsoap.org/soap/envelope/" {
		return nil, fmt.Errorf("the answer's root is %s %s, not a SOAP envelope", env.XMLName.Space, env.XMLName.Local)
	}
	if f := env.Body.Fault; f != nil {
		return &env, &Fault{Code: f.Code.Value, Subcode: f.Code.Subcode.Value, Reason: strings.Join(f.Reason.Text, " ")}
	}
	if v != nil {
		if err := xml.Unmarshal([]byte("<Body>"+string(env.Body.Inner)+"</Body>"), v); err != nil {
			return &env, fmt.Errorf("the answer's body: %v", err)
		}
	}
	return &env, nil
}

// errEmpty marks an answer that lacks what was asked.
var errEmpty = errors.New("the answer lacks it")
