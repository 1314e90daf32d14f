Feature: A newer push supersedes an older one
  In SUPERSEDED mode a stage holds one execution at a time, and only one execution waits in front of it:
  when a newer commit reaches the same waiting point, the one that was waiting is superseded. The release
  waiting for approval is not touched, and the newest commit is the one that follows it.

  Background:
    Given the demo app is live behind the load balancer
    And the pipeline runs in SUPERSEDED mode

  @slow
  Scenario: Of the commits waiting behind an approval, only the newest goes on
    When we push a version bump of the demo app
    Then the release waits for our approval
    When we push two more version bumps in quick succession
    Then the middle execution is superseded
    When we approve the release
    Then the deployment succeeds
    When we approve the release of the newest commit
    Then the deployment succeeds
    And every instance behind the load balancer serves the new version
