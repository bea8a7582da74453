// Package cliq speaks Zoho Cliq's wire format in both directions: the messages,
// cards and forms Cliq renders, the handler attributes our Deluge forwarders send
// us, the verification of those forwarded requests, and an OAuth 2.0 REST client
// for posting to channels, bot users and chats.
//
// The package knows nothing about tasks; callers build messages and decide what
// to send. Platform facts it relies on are documented in the project's Cliq
// reference (shared/cliq/REFERENCE.md).
package cliq
