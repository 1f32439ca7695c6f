package domain

import (
	"maps"
	"slices"
)

// reactionTable holds the live reactions of a session's messages: for each
// message with at least one, its emojis in the order they were first used,
// each with the users who reacted with it in the order they did. It answers
// the rules that need every reaction of a message, exactly and under the
// session's lock: one reaction per user per emoji, and at most
// Policy.MaxReactionEmojis distinct emojis per message.
//
// Unlike recentMessages it is not bounded by time: a reaction lives until it
// is removed or its message is recalled, on messages of any age. Its memory is
// proportional to the live reactions, and nothing else: about 40 bytes and a
// map entry per message that has reactions (its 16-byte key and a slice), 40
// bytes and the emoji's text per distinct emoji on it, and a 16-byte string
// header per reaction. The user id's text is shared with the member table
// while the user is a member, so it is not paid per reaction. Messages without
// reactions cost nothing, and removing a message's last reaction gives its
// entry back.
type reactionTable struct {
	byMessage map[msgKey][]emojiReactions
	// peak is the most messages byMessage held since it was made: Go maps
	// never give memory back, so one that once held far more is copied.
	peak int
}

// emojiReactions is one emoji on a message and who reacted with it.
type emojiReactions struct {
	emoji string
	users []string
}

// has reports whether user reacted to the message with emoji.
func (t *reactionTable) has(msg msgKey, emoji, user string) bool {
	i := t.emojiIndex(msg, emoji)
	return i >= 0 && slices.Contains(t.byMessage[msg][i].users, user)
}

// emojiIndex returns the place of emoji among the message's emojis, or -1.
func (t *reactionTable) emojiIndex(msg msgKey, emoji string) int {
	return slices.IndexFunc(t.byMessage[msg], func(e emojiReactions) bool { return e.emoji == emoji })
}

// distinct returns how many distinct emojis the message's reactions use.
func (t *reactionTable) distinct(msg msgKey) int {
	return len(t.byMessage[msg])
}

// add records a reaction; one already there is left as it is.
func (t *reactionTable) add(msg msgKey, emoji, user string) {
	if t.byMessage == nil {
		t.byMessage = make(map[msgKey][]emojiReactions)
	}
	list := t.byMessage[msg]
	i := t.emojiIndex(msg, emoji)
	if i < 0 {
		t.byMessage[msg] = append(list, emojiReactions{emoji: emoji, users: []string{user}})
		t.peak = max(t.peak, len(t.byMessage))
		return
	}
	if !slices.Contains(list[i].users, user) {
		list[i].users = append(list[i].users, user)
	}
}

// remove withdraws a reaction, if it is there, and forgets an emoji left
// without users and a message left without reactions.
func (t *reactionTable) remove(msg msgKey, emoji, user string) {
	i := t.emojiIndex(msg, emoji)
	if i < 0 {
		return
	}
	list := t.byMessage[msg]
	j := slices.Index(list[i].users, user)
	if j < 0 {
		return
	}
	list[i].users = slices.Delete(list[i].users, j, j+1)
	if len(list[i].users) > 0 {
		return
	}
	list = slices.Delete(list, i, i+1)
	if len(list) == 0 {
		t.drop(msg)
		return
	}
	t.byMessage[msg] = list
}

// drop forgets every reaction to a message.
func (t *reactionTable) drop(msg msgKey) {
	if _, ok := t.byMessage[msg]; !ok {
		return
	}
	delete(t.byMessage, msg)
	if t.peak >= minShrink && t.peak >= 4*len(t.byMessage) {
		c := make(map[msgKey][]emojiReactions, len(t.byMessage))
		maps.Copy(c, t.byMessage)
		t.byMessage, t.peak = c, len(c)
	}
}

// count returns the number of live reactions, for tests.
func (t *reactionTable) count() int {
	n := 0
	for _, list := range t.byMessage {
		for _, e := range list {
			n += len(e.users)
		}
	}
	return n
}

// clone returns an independent copy.
func (t *reactionTable) clone() reactionTable {
	if t.byMessage == nil {
		return reactionTable{}
	}
	c := reactionTable{byMessage: make(map[msgKey][]emojiReactions, len(t.byMessage)), peak: len(t.byMessage)}
	for k, list := range t.byMessage {
		cl := make([]emojiReactions, len(list))
		for i, e := range list {
			cl[i] = emojiReactions{emoji: e.emoji, users: slices.Clone(e.users)}
		}
		c.byMessage[k] = cl
	}
	return c
}
