<?php
// Test-fixture chores that Phorge has no command or Conduit method for, done with Phorge's own
// classes (run as: php fixture.php PHORGE_ROOT COMMAND [ARGS...]; prints one JSON document).
//
//   users '{"admin": {"realName": "...", "admin": true}, "alice": {...}}'
//       create the accounts (verified, approved), empower the admins, and give each a new
//       standard Conduit token; prints {username: {phid, token}}
//   token USERNAME                 a new standard Conduit token for USERNAME; prints {token}
//   revoke TOKEN                   expire TOKEN the way the web UI's "Revoke" does; prints {revoked}
//   merge TARGET DUPLICATE ACTOR   "Merge Duplicates In" as the web UI does it: on TARGET an edge
//       plus mergedfrom and subscribers transactions, then on DUPLICATE a mergedinto transaction
//       (status becomes the special duplicate status); TARGET/DUPLICATE are monograms like T12.

$root = $argv[1];
require_once $root.'/scripts/init/init-script.php';

function fixture_user($username) {
  $user = id(new PhabricatorPeopleQuery())
    ->setViewer(PhabricatorUser::getOmnipotentUser())
    ->withUsernames(array($username))
    ->executeOne();
  if (!$user) {
    throw new Exception("no user named {$username}");
  }
  return $user;
}

function fixture_new_token(PhabricatorUser $user) {
  $token = PhabricatorConduitToken::initializeNewToken(
    $user->getPHID(),
    PhabricatorConduitToken::TYPE_STANDARD);
  $token->save();
  return $token->getToken();
}

function fixture_task($viewer, $monogram) {
  $task = id(new ManiphestTaskQuery())
    ->setViewer($viewer)
    ->withIDs(array((int)ltrim($monogram, 'T')))
    ->needSubscriberPHIDs(true)
    ->executeOne();
  if (!$task) {
    throw new Exception("no task {$monogram} visible to ".$viewer->getUsername());
  }
  return $task;
}

$command = $argv[2];
$source = PhabricatorContentSource::newForSource(
  PhabricatorConsoleContentSource::SOURCECONST);
$out = array();

switch ($command) {
  case 'users':
    $specs = phutil_json_decode($argv[3]);
    foreach ($specs as $username => $spec) {
      $user = id(new PhabricatorUser())
        ->setUsername($username)
        ->setRealName($spec['realName'])
        ->setIsApproved(1);
      $email = id(new PhabricatorUserEmail())
        ->setAddress($username.'@example.test')
        ->setIsVerified(1);
      id(new PhabricatorUserEditor())
        ->setActor($user)
        ->createNewUser($user, $email);
      if (!empty($spec['admin'])) {
        // what `bin/user empower --user NAME` does
        $xactions = array(
          $user->getApplicationTransactionTemplate()
            ->setTransactionType(PhabricatorUserEmpowerTransaction::TRANSACTIONTYPE)
            ->setNewValue(true),
        );
        $user->getApplicationTransactionEditor()
          ->setActor(PhabricatorUser::getOmnipotentUser())
          ->setActingAsPHID(id(new PhabricatorPeopleApplication())->getPHID())
          ->setContentSource($source)
          ->setContinueOnMissingFields(true)
          ->applyTransactions($user, $xactions);
      }
      $out[$username] = array(
        'phid' => $user->getPHID(),
        'token' => fixture_new_token($user),
      );
    }
    break;

  case 'token':
    $out['token'] = fixture_new_token(fixture_user($argv[3]));
    break;

  case 'revoke':
    $token = id(new PhabricatorConduitToken())->loadOneWhere('token = %s', $argv[3]);
    if (!$token) {
      throw new Exception('no such token');
    }
    // what the web UI's "Revoke API Token" does
    $token->setExpires(PhabricatorTime::getNow() - 60)->save();
    $out['revoked'] = true;
    break;

  case 'merge':
    $actor = fixture_user($argv[5]);
    $target = fixture_task($actor, $argv[3]);
    $duplicate = fixture_task($actor, $argv[4]);
    $relationship = id(new ManiphestTaskMergeInRelationship())
      ->setViewer($actor)
      ->setContentSource($source);
    $add = array($duplicate->getPHID() => $duplicate);
    $xactions = array(
      $target->getApplicationTransactionTemplate()
        ->setTransactionType(PhabricatorTransactions::TYPE_EDGE)
        ->setMetadataValue('edge:type', $relationship->getEdgeConstant())
        ->setNewValue(array('+' => array_fuse(array_keys($add)), '-' => array())),
    );
    foreach ($relationship->willUpdateRelationships($target, $add, array()) as $xaction) {
      $xactions[] = $xaction;
    }
    $target->getApplicationTransactionEditor()
      ->setActor($actor)
      ->setContentSource($source)
      ->setContinueOnMissingFields(true)
      ->setContinueOnNoEffect(true)
      ->applyTransactions($target, $xactions);
    // the mergedinto transaction on the duplicate, with setContinueOnNoEffect(true)
    $relationship->didUpdateRelationships($target, $add, array());
    $out['target'] = $target->getPHID();
    $out['duplicate'] = $duplicate->getPHID();
    break;

  default:
    throw new Exception("unknown command {$command}");
}

echo json_encode($out)."\n";
