# processes rules are searched in the process name; the production policy's
# authorized "ssh-agent" is applied to every case in this file.
ssh
ssh
forbidden

ssh
sshd
forbidden

ssh
ssh-agent
allowed

ssh
sleep
allowed
